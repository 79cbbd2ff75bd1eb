"""Orders: placement, the state machine, the lifecycle around it, and reads."""
