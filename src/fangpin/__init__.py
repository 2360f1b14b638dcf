"""fangpin (防贫): keep illness from pushing people into, or back into, poverty."""

__version__ = "0.1.0"
