"""`python -m store ...`: the store command."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="store")
