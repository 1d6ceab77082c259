"""The MemOS CDK app and its local emulation."""
