"""Programme management: editions, the module catalogue, trainers and the schedule."""
