#ifndef PGFOLD_VERSION_H
#define PGFOLD_VERSION_H
#define PGFOLD_VERSION "0.1.0"
#endif
