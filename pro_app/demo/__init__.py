"""Demo: a seeded cohort and ``pro-app demo``, built through the product's own code paths.

``seed`` enrols patients, runs the tick at simulated times and answers by web and by
text; ``simulated_answers`` makes plausible recoveries. It may import every feature
package, ``storage`` and ``models``; nothing in the product imports it except the CLI
registration in ``pro_app.commands``.
"""
