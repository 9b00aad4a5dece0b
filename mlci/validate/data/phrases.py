"""An expectation in words ("values in [0, 1]", "no nulls"), and the short forms of values
that the messages of the checks quote."""

from __future__ import annotations

from typing import Any

__all__ = ["describe", "listing", "literal", "percentage"]


def listing(values: Any, limit: int = 10) -> str:
    items = list(values) if isinstance(values, list | tuple | set | frozenset) else [values]
    shown = ", ".join(literal(v) for v in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def literal(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _range(kwargs: dict[str, Any]) -> str:
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    left = "(" if kwargs.get("strict_min") else "["
    right = ")" if kwargs.get("strict_max") else "]"
    if low is not None and high is not None:
        return f"in {left}{literal(low)}, {literal(high)}{right}"
    if low is not None:
        return f"{'>' if kwargs.get('strict_min') else '>='} {literal(low)}"
    if high is not None:
        return f"{'<' if kwargs.get('strict_max') else '<='} {literal(high)}"
    return "any value"


_AGGREGATES = {
    "expect_column_mean_to_be_between": "mean",
    "expect_column_median_to_be_between": "median",
    "expect_column_min_to_be_between": "min",
    "expect_column_max_to_be_between": "max",
    "expect_column_stdev_to_be_between": "standard deviation",
    "expect_column_sum_to_be_between": "sum",
    "expect_column_unique_value_count_to_be_between": "distinct values",
    "expect_column_proportion_of_unique_values_to_be_between": "share of unique values",
    "expect_column_proportion_of_non_null_values_to_be_between": "share of non-null values",
    "expect_table_row_count_to_be_between": "rows",
    "expect_table_column_count_to_be_between": "columns",
}

# one phrase per expectation type; {all} is "all " or, with `mostly` < 1, "at least 95% of "
_PHRASES = {
    **{kind: noun + " {range}" for kind, noun in _AGGREGATES.items()},
    "expect_column_values_to_be_between": "{all}values {range}",
    "expect_column_values_to_not_be_null": "no nulls",
    "expect_column_values_to_be_null": "{all}values null",
    "expect_column_values_to_be_in_set": "{all}values in {{{value_set}}}",
    "expect_column_values_to_not_be_in_set": "no value in {{{value_set}}}",
    "expect_column_values_to_be_in_type_list": "type one of {type_list}",
    "expect_column_values_to_be_of_type": "type {type_}",
    "expect_column_values_to_be_unique": "unique values",
    "expect_column_distinct_values_to_contain_set": "distinct values include {{{value_set}}}",
    "expect_column_distinct_values_to_be_in_set": "distinct values within {{{value_set}}}",
    "expect_column_distinct_values_to_equal_set": "distinct values exactly {{{value_set}}}",
    "expect_column_values_to_match_regex": "{all}values match /{regex}/",
    "expect_table_row_count_to_equal": "rows = {value}",
    "expect_table_column_count_to_equal": "columns = {value}",
    "expect_table_columns_to_match_set": "columns {how} {{{column_set}}}",
    "expect_table_columns_to_match_ordered_list": "columns in order [{column_list}]",
    "expect_column_to_exist": "column exists",
}
# the phrases that read differently when only a share of the values must qualify
_SHARE_PHRASES = {
    "expect_column_values_to_not_be_null": "{share}values not null",
    "expect_column_values_to_be_unique": "{share}values unique",
}


def describe(kind: str, kwargs: dict[str, Any]) -> str:
    """The expectation in words."""
    mostly = kwargs.get("mostly")
    share = (
        f"at least {percentage(mostly * 100)} of "
        if isinstance(mostly, int | float) and mostly < 1
        else ""
    )
    template = (_SHARE_PHRASES.get(kind) if share else None) or _PHRASES.get(kind)
    if template is not None:
        return template.format(
            share=share,
            all=share or "all ",
            range=_range(kwargs),
            value_set=listing(kwargs.get("value_set") or []),
            type_list=listing(kwargs.get("type_list") or [], 4),
            type_=kwargs.get("type_"),
            regex=kwargs.get("regex"),
            value=kwargs.get("value"),
            how="exactly" if kwargs.get("exact_match", True) else "include",
            column_set=listing(kwargs.get("column_set") or [], 5),
            column_list=listing(kwargs.get("column_list") or [], 5),
        )
    described = ", ".join(
        f"{key}={listing(value, 5) if isinstance(value, list) else literal(value)}"
        for key, value in kwargs.items()
        if key not in {"column", "batch_id"}
    )
    return f"{kind.removeprefix('expect_').replace('_', ' ')}" + (
        f" ({described})" if described else ""
    )


def percentage(value: float) -> str:
    if value == 0 or value >= 1 or value == 100:
        return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%"
    return f"{value:.2g}%"
