"""git codev: several architect agents sharing one repository, coordinated through git."""

__version__ = "0.1.0"
