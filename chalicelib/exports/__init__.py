"""Exports: sales, leads or customers as CSV files made by a background job, downloaded with a presigned URL."""
