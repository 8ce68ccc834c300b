"""`python -m efikit`: the same as the `efikit` command."""
from efikit.cli.main import main

if __name__ == "__main__":
    main()
