# Not part of the blueprint (*.vars.hcl is skipped): given with -var-file.
max_model_len = [32768]
hostname      = "coop"
