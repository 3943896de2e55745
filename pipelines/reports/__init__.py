"""Reports: the data and model reports' content and the MCLEMCD ablation table."""
