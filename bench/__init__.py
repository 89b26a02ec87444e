"""The performance benchmark behind `make bench` (bench/run.py); not part of the installed package.

python -m bench                       # 10M interactions, 24 months, 30 leaf teams (38 units)
python -m bench --interactions 1000000
python -m bench --scale               # the scaling table: 1M, 3M, 10M, 30M; 38 vs 200 units
make bench / make bench BENCH_SIZE=small / make bench BENCH_SCALE=1
"""
