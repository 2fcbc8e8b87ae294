"""Historical records of models owned by other apps are registered here (simple_history.register)."""
