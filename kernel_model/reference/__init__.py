"""Pure-Python reference models: slow, simple, written from Linux's description, used to check the C core."""
