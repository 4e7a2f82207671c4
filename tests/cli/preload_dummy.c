/* Stands in for libleaktrace.so where a test only needs a loadable library. */
void leaktrace_test_dummy(void) {}
