"""The build: chapter parameters, papermill execution, the rebuild graph, staging, publishing."""
