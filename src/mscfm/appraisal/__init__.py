"""Appraisal of the evidence as a systematic review reports it: screening and the PRISMA 2020
flow (`screening`), risk of bias per study (`risk_of_bias`), AMSTAR 2 for the meta-analyses and
their overlap (`amstar`). Curated tables in, counts and display tables out; no files opened."""
