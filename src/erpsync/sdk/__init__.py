"""The connector SDK: subclass ``Connector``, write the ERP logic, serve it with ``create_app``."""
