"""`tandem eval`: the model × prompt matrix, its scores, its report and the verdict's cost line."""
