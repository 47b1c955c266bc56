"""`python cli.py ...`: a thin entry into store.cli."""
from store.cli import main

if __name__ == "__main__":
    main()
