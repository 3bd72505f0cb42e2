"""The built-in CRM (SPEC §3): companies, persons, projects, lists, users and groups."""
