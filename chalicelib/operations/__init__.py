"""The platform operator's view of the job queues: what waits, what is dead, and the redrive."""
