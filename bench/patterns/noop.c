/* Does nothing: its whole run is the fixed cost of starting and ending a
   process (plainly, the loader and libc; under the tracker, loading the
   library and its dependencies, initialising, and the exit dump). */
int main(void) { return 0; }
