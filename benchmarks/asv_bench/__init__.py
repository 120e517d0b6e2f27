"""airspeed velocity (asv) benchmarks of hallsim: the suite of ``benchmarks/suite.py``."""
