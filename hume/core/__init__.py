"""What every stage uses: errors, atomic files, locks, devices, several processes, reporting,
names, versions, fixed choices, labelings compared, k-means, disk errors and test hooks."""
