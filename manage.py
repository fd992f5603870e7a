#!/usr/bin/env python
"""Django's manage.py, for habit; `groupcrm` (the console script) is the same thing."""

from groupcrm.cli import main

if __name__ == "__main__":
    main()
