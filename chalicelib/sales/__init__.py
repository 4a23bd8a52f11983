"""Sales (Tekup sales tracking): services sold to customers by reps, numbered per year, on a status flow."""
