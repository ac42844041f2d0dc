"""The pipeline's tasks for many repositories, on the local pool or a Dask cluster (--scheduler)."""
