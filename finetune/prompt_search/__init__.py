"""`tandem personas optimise`: a search over a persona's few-shot examples and wording, scored as `tandem eval` scores."""
