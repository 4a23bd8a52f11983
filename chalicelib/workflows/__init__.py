"""Status flows: workflow definitions, their Step Functions state machines, and entity transitions."""
