"""Authentication: signup, login, tokens, sessions, and the guard every protected route goes through."""
