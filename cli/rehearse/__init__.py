"""`gatepulse rehearse`: the production topology under faults and real traffic."""
