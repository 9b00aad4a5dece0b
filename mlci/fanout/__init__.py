"""A pipeline fanned out across runners (issue #13): what each branch job leaves for the join.

`records`: the branch record each upstream/branch job writes and the join reads back;
`join`: the plan job's outputs for the workflow and the join's check that nothing but
join stages would run. `mlci fanout ...` (mlci/cli/fanout.py) is the entry the reusable
workflows call.
"""
