"""erpsync: keeps a CRM and any number of ERP systems in sync through pluggable sync connectors."""

__version__ = "0.1.0"
