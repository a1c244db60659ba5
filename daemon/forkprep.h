#ifndef ECHOD_FORKPREP_H
#define ECHOD_FORKPREP_H

/*
 * Have fork() copy the page table entries of the executable's code and
 * rodata, so children do not fault them in one by one. Returns how many
 * segments were prepared (0: nothing done, nothing broken).
 */
unsigned forkprep(void);

#endif
