"""Dose-response check: does each MRdIB term move the quantity it targets?

`python -m mrdib dose-response --term a2 --values 0 0.01 0.05 0.1` trains one small sweep of an
alpha (the others fixed at `--base`) on any backbone, analyses every run (mrdib.analysis) and
reports per alpha value the term's target beside accuracy:
  a1 (KL)      mean posterior log-variance, channel information, planted-noise probe R^2 on samples
  a2 (MINE)    redundancy MI between modalities on posterior samples (Gaussian/CCA, MINE if asked)
  a3 (unique)  each modality's standalone ranking, on samples and means
Results go to <artifacts>/dose_response/<name>/ (results.csv, summary.csv, dose_response.json);
`mrdib.figures.dose_response.dose_response_figure` draws them and the dashboard lists them.
"""
