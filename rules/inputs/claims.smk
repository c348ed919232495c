# Input functions and params of rules/claims.smk (kept apart from the rules: snakemake --lint).


# Several seeds (issue 17): the claims of `{exp}` under every seed of config `seeds` (seed k runs
# the experiment variant {exp}_seed<k>, advtrace.config.seed_variant; the experiment's own seed
# is {exp} itself). The target `all` leaves it out; build it with `snakemake --cores all claims_seeds`.
def seed_claims(wildcards):
    base = EXPS[wildcards.exp]["seed"]
    return {
        str(int(k)): f"results/{seed_experiment(wildcards.exp, k, base)}/tables/claims.parquet"
        for k in config.get("seeds", [base])
    }
