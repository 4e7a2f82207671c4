/* Linked statically (tests/cli/CMakeLists.txt): a program no loader reads
   LD_PRELOAD for (untracked_program_test.cc). */
int main(void) { return 0; }
