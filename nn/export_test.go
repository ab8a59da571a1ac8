package nn

// PoisonBufs sets poisonBufs and returns its previous value: the
// benchmarks of package nn_test turn the poisoning that TestMain sets off,
// so that they time the ops rather than the NaN fills.
func PoisonBufs(on bool) bool {
	prev := poisonBufs
	poisonBufs = on
	return prev
}
