"""Photos in, tensors out: Lab colour, image files, photo lists, the training dataset, synthetic damage, prepare."""
