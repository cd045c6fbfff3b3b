"""Speed figures of every step on this machine and the person-specific training benchmark
(``h2h bench ...``). Outside every stage's import closure: nothing here changes a stage's result."""
