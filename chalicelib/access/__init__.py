"""Access control: roles, the permission matrix, plan modules, and the principal a request acts as."""
