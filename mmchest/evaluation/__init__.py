"""Framework-free metric maths (numpy only); registered metrics wrap these."""
