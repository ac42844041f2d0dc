"""Where bytes come from: files and directories, stdin, the git index."""
