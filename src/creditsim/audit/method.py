"""What the audit's words mean and how its intervals are made, as written into every audit
(`definitions`): the method stated beside the numbers it produced."""

DEFINITIONS = {
    "wrongful": "sanctioned, but the citizen's own correctly attributed records would "
    "not have triggered the sanction",
    "deserved": "the policy would have imposed the sanction had every true event been "
    "recorded against its true actor (the ground truth of the confusion matrix)",
    "disparate_impact": "this group's sanction rate / the reference group's sanction "
    "rate (the sanction rate's disparity): 1.4 means sanctioned 1.4 times as often as "
    "the reference group; flagged outside the disparity band (0.8 to 1.25 at the "
    "four-fifths threshold); said in words in `in_words`",
    "disparities": "this group's rate / the reference group's rate, for every rate, "
    "flagged outside the disparity band [threshold, 1 / threshold]",
    "sanction_rate_per_true_offence": "citizens sanctioned / true offences committed",
    "confidence intervals": "Jeffreys: each group's rate x / n has the posterior "
    "Beta(x + 1/2, n - x + 1/2) (the Jeffreys prior); a rate's interval is its "
    "equal-tailed interval in closed form, with Clopper-Pearson's ends where Jeffreys' "
    "fall short: from 0 and up to the exact upper end when x = 0, from the exact lower "
    "end when x = 1 (mirrored at n and n - 1); a ratio's (every disparity, the disparate "
    "impact) is the equal-tailed interval of the ratio of `posterior_draws` independent "
    "draws from the group's and the reference group's posteriors (gamma draws from the "
    "run's keyed stream, shape count + 1/2, or 1 for a count of 0), from 0 when the "
    "group has no citizen in the rate's numerator, unbounded above (null) when the "
    "reference has none; outcomes with the same counts in a group (sanctions with the "
    "same trigger and term) share their draws, and so their intervals. Coverage: "
    "bench/results/coverage.md",
    "intersections": "group x region x income band; disparities against the reference "
    "group within the same region and income band",
    "flagged_significant": "the whole confidence interval of the disparate impact lies "
    "outside the disparity band",
}

__all__ = ["DEFINITIONS"]
