"""Run folders and where runs are kept: the writer training uses, the reader everything else uses,
one identity for what makes two runs the same (`identity`), the study database (`database`), run
summaries kept with Optuna trials (`storage`) and committed runs tables (`table`)."""
