"""Domain areas: the tables of each and the rules over them. Imports only ``conduit.db``."""
