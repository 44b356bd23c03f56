#!/usr/bin/env python3
# start-notebook.py of deloc-test/jupyter: runs the Jupyter server with the
# arguments given (the Docker Stacks script runs `jupyter lab`; Debian has no
# JupyterLab front end, so this runs `jupyter server`, the same server and
# REST API; run as python3 -m jupyter_server).  The token comes from JUPYTER_TOKEN, read by the server itself.
import os
import sys

os.execvp("python3", ["python3", "-m", "jupyter_server"] + sys.argv[1:])
