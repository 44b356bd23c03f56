/* deloc.term core: is a descriptor a terminal, and how wide is it. */
#ifndef DELOC_TERM_H
#define DELOC_TERM_H

/* 1 if fd is a terminal, 0 if not (or not open). */
int dl_term_isatty(int fd);

/* The terminal's width in columns (TIOCGWINSZ), 0 when fd is no terminal or
 * the terminal does not say. */
int dl_term_width(int fd);

#endif
