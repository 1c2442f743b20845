"""Entry script of the PyInstaller bundle: the same entry point as ``interp-studio`` and
``python -m desktop_app`` (GUI, or a headless subcommand such as ``export``)."""
import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from desktop_app.__main__ import main

    sys.exit(main())
