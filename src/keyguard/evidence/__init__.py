"""Evidence bundles: a hash manifest signed with a key made for the case, and its verification."""
